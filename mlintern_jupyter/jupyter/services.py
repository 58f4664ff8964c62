"""What a notebook's session needs beyond its tools: the job price estimator, the trace uploader, Slack."""

from __future__ import annotations

from ..agent import events as ev
from ..agent.session import Session
from ..tools import ToolsConfig, slack_listener


def session_services(session: Session, config: ToolsConfig) -> None:
    services = session.services
    token = config.resolved_hf_token()
    if token and services.cost_estimator is None:
        from huggingface_hub import HfApi

        from ..agent.approval import parse_duration_s
        from ..agent.budget import cost_estimator_for

        api = HfApi(endpoint=config.hf_endpoint, token=token)
        services.cost_estimator = cost_estimator_for(api, parse_duration_s(config.default_job_timeout))
    elif services.cost_estimator is None:
        from ..agent.budget import CostEstimator, HardwarePrices

        # No Hub access: local jobs cost nothing, anything priced on the Hub is unknown (never auto-approved).
        services.cost_estimator = CostEstimator(HardwarePrices(lambda: []))
    if token:
        from ..agent.upload import uploader_for

        uploader_for(session)  # in the trace mode the log records; `%intern traces` changes it
    if config.slack.configured and config.slack.events and services.notifier is None:
        # Opt-in per kind of event (approval needed, errors, turn done) in $MLINTERN_HOME/config.json.
        notifier = slack_listener(config.slack, on_failure=lambda text: session.emit(
            ev.Notice(message=text, level="warning")))
        services.notifier = notifier
        session.subscribe(notifier)
