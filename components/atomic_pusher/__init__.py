"""AtomicPusher: TFX's Pusher, but a version directory appears complete or not at all, and only once."""
