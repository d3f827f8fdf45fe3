"""Transport and format: the parts every OCPI module shares."""
