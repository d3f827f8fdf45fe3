"""OCPI tariff pricing: what a session costs under a Tariff, for OCPI 2.1.1, 2.2.1
and 2.3.0, in exact decimals. Pure: no I/O, nothing from ``ocpi`` above
``ocpi.core``. The rules and every reading the engine chose: docs/pricing.md."""

from .cost import Cost, CostLine
from .errors import PricingError
from .session import MAX_DAYS, price_plan, price_session
from .taxes import Amount, TaxAmount

__all__ = ["MAX_DAYS", "Amount", "Cost", "CostLine", "PricingError", "TaxAmount",
           "price_plan", "price_session"]
