"""OCPI types shared by several modules and by the handshake, one definition each."""
