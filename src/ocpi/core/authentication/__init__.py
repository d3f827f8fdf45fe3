"""Authentication: the seed ``Authenticator`` and token header parsing."""
