//! PEP 440 versions and specifiers.
