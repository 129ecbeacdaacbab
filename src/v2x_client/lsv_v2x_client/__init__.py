"""Receives C-V2X road-side messages over UDP, decodes ASN.1 UPER, checks plausibility, publishes hints."""
