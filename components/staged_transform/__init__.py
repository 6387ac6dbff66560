"""TFX's Transform executor, materialising transformed examples through the staged C++ TFRecord writer."""
