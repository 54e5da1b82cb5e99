"""Small helpers shared by every job: atomic file output and seeding."""
