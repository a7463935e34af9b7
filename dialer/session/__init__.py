"""The pure dialling session (:class:`Session`), its runtime state and its commands."""

from dialer.session.commands import (
    WRITES,
    CampaignRef,
    Command,
    Diagnose,
    Emit,
    EndCall,
    GiveBack,
    LogAgentState,
    Originate,
    QueueAdd,
    QueuePause,
    QueueRemove,
    RulesDue,
    SetAgentCampaign,
    SetAgentState,
    WriteCallStatus,
)
from dialer.session.dispositions import DispositionError, check_call, check_disposition
from dialer.session.runtime import MAX_WRAPUP, AgentRef, AgentRuntime, CampaignRuntime, LiveCall
from dialer.session.session import ClaimPlan, Session, dt

__all__ = [
    "MAX_WRAPUP",
    "WRITES",
    "AgentRef",
    "AgentRuntime",
    "CampaignRef",
    "CampaignRuntime",
    "ClaimPlan",
    "Command",
    "Diagnose",
    "DispositionError",
    "Emit",
    "EndCall",
    "GiveBack",
    "LiveCall",
    "LogAgentState",
    "Originate",
    "QueueAdd",
    "QueuePause",
    "QueueRemove",
    "RulesDue",
    "Session",
    "SetAgentCampaign",
    "SetAgentState",
    "WriteCallStatus",
    "check_call",
    "check_disposition",
    "dt",
]
