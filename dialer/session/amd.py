"""AMD false positives in the abandon rate (UK, Ofcom): a share of the machine verdicts were
people, hung up on as an abandoned call would be.

Under a pack that says so (``[abandon] amd_false_positives``), each machine verdict adds
1 − the campaign's ``amd_accuracy`` (1 when it states none) to an estimate, and each whole unit
of it counts in the campaign's abandon ledger as one abandoned live answer: the governor paces
against (abandoned + estimate) / (answered + estimate), the rate the report shows.  Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.definition import CampaignDefinition


@dataclass
class AmdEstimate:
    share: float  # of each machine verdict counted as a false positive
    owed: float = 0.0  # the estimate's fraction not yet counted

    @classmethod
    def of(cls, definition: CampaignDefinition) -> AmdEstimate:
        counts = definition.dial.amd and any(p.amd_false_positives for p in definition.packs)
        accuracy = definition.compliance.amd_accuracy
        return cls(1.0 - (accuracy if accuracy is not None else 0.0) if counts else 0.0)

    def machine_verdict(self) -> int:
        """One more machine verdict: how many abandoned answers it completes (0 or 1)."""
        self.owed += self.share
        whole = int(self.owed + 1e-9)
        self.owed = max(0.0, self.owed - whole)
        return whole
