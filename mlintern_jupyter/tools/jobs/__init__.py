"""hf_jobs: compute jobs on Hugging Face Jobs or as local processes, followed by a watcher."""

from .handle import JobHandle
from .hardware import PRICES_PER_HOUR, hardware_rows, price_per_hour
from .manager import JobManager
from .tool import job_manager, make_hf_jobs

__all__ = ["PRICES_PER_HOUR", "JobHandle", "JobManager", "hardware_rows", "job_manager", "make_hf_jobs",
           "price_per_hour"]
