"""The one error the engine raises."""


class PricingError(ValueError):
    """The tariff cannot price this session; ``str()`` is the reason, for an operator."""
