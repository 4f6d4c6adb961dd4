//! Wheel file names and platform compatibility tags.
