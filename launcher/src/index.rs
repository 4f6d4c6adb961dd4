//! Simple-repository (PEP 503 HTML / PEP 691 JSON) project pages.
