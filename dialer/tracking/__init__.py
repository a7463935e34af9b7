"""Pure state machines fed by typed AMI events: dial attempts (``calls``) and agents (``agents``)."""
