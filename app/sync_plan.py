"""The Sync page's plan: what syncing every report of a store would fetch now, in how many calls
to Amazon, and when it could be done. The pages' door to the planner in amzinsight/ingest; it
reads the database only (no call to Amazon, no meter slot taken)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from amzinsight.config import Settings
from amzinsight.ingest.plan_summary import PlanLine, plan_lines
from amzinsight.ingest.sync import plan_tasks
from amzinsight.reports import REPORTS
from amzinsight.rules.meter import SALES_TRAFFIC_METER
from amzinsight.stores import Store


def store_sync_plan(
    engine: Engine, settings: Settings, store: Store, now: datetime | None = None
) -> list[PlanLine]:
    """The lines `amzinsight sync <store>` would print now. Ads reports are planned for the
    profiles already recorded (the CLI refreshes them from Amazon first)."""
    tasks = [
        task
        for spec in REPORTS.values()
        if spec.acquisition != "file"
        for task in plan_tasks(
            engine,
            store,
            spec,
            settings.sync.initial_days,
            now=now,
            ads_lookback_days=settings.ads.lookback_days,
        )
    ]
    meter = SALES_TRAFFIC_METER.at_speed(settings.sync.meter_speed)
    application = settings.credentials_for(store.slug).lwa_client_id
    return plan_lines(engine, store, tasks, meter, application, now)
