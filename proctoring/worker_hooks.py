"""Celery worker start-up: fail fast on missing models, then load them once per process."""

import logging

from celery.signals import worker_init, worker_process_init

from proctoring.checks import missing_models

logger = logging.getLogger(__name__)


class ModelsMissing(SystemExit):
    pass


@worker_init.connect
def refuse_to_start_without_models(**kwargs) -> None:
    problems = missing_models()
    if problems:
        for problem in problems:
            logger.critical("cannot start the analysis worker: %s", problem)
        raise ModelsMissing("analysis worker not started: " + "; ".join(problems))


@worker_process_init.connect
def warm_up_models(**kwargs) -> None:
    # Loading at fork time keeps the first frame of the first candidate from paying for it.
    from proctoring.services.analysis import human_counter, voice_detector

    human_counter()
    voice_detector()
