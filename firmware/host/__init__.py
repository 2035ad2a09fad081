"""CPython tools around the firmware, never copied to the device: writing it to a D32 (`flash`)."""
