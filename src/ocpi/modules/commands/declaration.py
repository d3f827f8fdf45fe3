"""The record of commands, received (CPO) and sent (eMSP): the remote requests'
table (``modules/remote.py``), shared with Charging Profiles. Commands are no
stored OCPI object: nothing is pushed, pulled or imported, so there is no
``ObjectType``."""

from ..remote import ASKING, CPO, DONE, EMSP, PENDING, records

__all__ = ["ASKING", "CPO", "DONE", "EMSP", "PENDING", "records"]
