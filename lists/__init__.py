"""Lead lists: import, phone normalisation, time zones, de-duplication, DNC, export."""
