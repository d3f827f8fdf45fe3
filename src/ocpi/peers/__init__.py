"""Partners: the registry of who may call the node, and with which token."""
