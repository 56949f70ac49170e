"""A local fake Amazon (SP-API today, the Ads API later) with realistic generated sellers.

Used by demo mode, the integration tests and the benchmarks; AmzInsight reaches it only over
HTTP through the real client libraries, exactly as it reaches Amazon.
"""

from amzinsight_sandbox.catalog import UnitCost, unit_costs
from amzinsight_sandbox.config import (
    FAULT_KINDS,
    Fault,
    SandboxAccount,
    SandboxConfig,
    default_demo_config,
    demo_account,
    demo_environment,
)
from amzinsight_sandbox.server import RunningSandbox, serve, serve_from_args, start_sandbox
from amzinsight_sandbox.truth import AccountTruth, account_truth

__all__ = [
    "FAULT_KINDS",
    "AccountTruth",
    "Fault",
    "RunningSandbox",
    "SandboxAccount",
    "SandboxConfig",
    "UnitCost",
    "account_truth",
    "default_demo_config",
    "demo_account",
    "demo_environment",
    "serve",
    "serve_from_args",
    "start_sandbox",
    "unit_costs",
]
