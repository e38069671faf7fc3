"""Infrastructure shared by every command: bounded parallel maps, atomic files, progress, interrupts."""
