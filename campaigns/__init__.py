"""Campaign definitions, dispositions and refusal reasons, callback rules, calling windows."""
