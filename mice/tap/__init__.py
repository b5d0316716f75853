"""twistd service makers, one per command: they only wire."""
