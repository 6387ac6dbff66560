"""Names of the transformed features, shared by preprocessing, training and serving."""

#: Resized image as raw uint8 pixels (H*W*3 bytes, serialized tensor).
TRANSFORMED_IMAGE_KEY = "image_pixels"
#: Class id (classification) passed through unchanged.
TRANSFORMED_LABEL_KEY = "label"
#: Segmentation mask resized nearest-neighbour, raw uint8 class ids (H*W bytes).
TRANSFORMED_MASK_KEY = "mask_pixels"
#: Outputs of the segmentation ``evaluation`` signature, read by the IoU metric in TFMA.
PREDICTED_MASK_KEY = "predicted_mask"
LABEL_MASK_KEY = "label_mask"
