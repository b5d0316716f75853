"""Post-processing modules of the BufferDaemon."""
