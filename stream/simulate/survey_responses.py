"""Survey answers: CSAT and NPS after a solve, and relationship NPS about a queue."""

from __future__ import annotations

from random import Random

from stream.simulate import event_bodies as bodies
from stream.simulate.draws import Picker, delay_ms
from stream.simulate.profile import Surveys
from stream.simulate.run_state import Ticket
from stream.simulate.scheduler import Scheduler


class SurveyResponses:
    """Draws who answers a survey, when and with what score, and schedules the answers.

    Args:
        schedule: Where the answers are pushed.
        rng: The run's generator (shared with ticket stories: draws interleave with theirs).
        surveys: Response odds, delays and score mixes.
    """

    def __init__(self, schedule: Scheduler, rng: Random, surveys: Surveys) -> None:
        self._push = schedule.push
        self._rng, self._surveys = rng, surveys
        self._happy = Picker(surveys.csat_scores)
        self._unhappy = Picker(surveys.csat_unhappy_scores)
        self._nps = Picker(surveys.nps_scores)

    def after_solve(self, tk: Ticket, solved_t: int, limit: float) -> None:
        """Schedule the answers to a ticket's CSAT (maybe re-rated) and NPS surveys.

        Only answers before `limit`, the ticket's next story step (`math.inf`: none), are
        emitted, so none follows a close.
        """
        rng, surveys = self._rng, self._surveys
        if rng.random() < surveys.csat_response_rate:
            scores = self._unhappy if tk.reopens or tk.sessions >= 3 else self._happy
            rated_t = solved_t + delay_ms(surveys.csat_delay.sample(rng))
            if rated_t < limit:
                self._push(rated_t, None, bodies.survey_csat(tk, scores.pick(rng)))
                if rng.random() < surveys.csat_rerate_probability:
                    rated_t += delay_ms(surveys.csat_rerate_delay.sample(rng))
                    if rated_t < limit:
                        self._push(rated_t, None, bodies.survey_csat(tk, scores.pick(rng)))
        if rng.random() < surveys.nps_response_rate:
            nps_t = solved_t + delay_ms(surveys.nps_delay.sample(rng))
            if nps_t < limit:
                self._push(nps_t, None, bodies.ticket_nps(tk, self._nps.pick(rng)))

    def relationship_nps(self, queue: str, t: int) -> None:
        """Emit a relationship NPS answer about `queue` at `t` (not about any ticket)."""
        self._push(t, None, bodies.relationship_nps(queue, self._nps.pick(self._rng)))
