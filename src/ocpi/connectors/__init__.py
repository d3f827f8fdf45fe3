"""Sources of the node's own objects outside OCPI (charger platforms)."""
