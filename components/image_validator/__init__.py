"""ImageValidator: decode every image, quarantine the bad ones with a reason each."""
