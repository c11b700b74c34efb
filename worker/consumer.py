"""Celery's task consumer, with the prefetch limit measured against the pool's size.

After the broker connection drops, Celery 5.6 lowers the prefetch count to what the pool
can take besides the tasks still running, and raises it again as tasks finish
(`worker_enable_prefetch_count_reduction`). It reads the pool's size from
`pool.num_processes`, which the gevent pool answers with the number of greenlets running
right now, not with its concurrency: a worker idle at the reconnect went down to 1 and,
as each finished task raised it towards "the maximum" of 1 or 2, stayed there, running
one generation at a time until restarted. The threads pool answers with its limit, so
it recovered. Here both use the limit, the size the prefetch count started at.
"""

from __future__ import annotations

from celery.worker.consumer import Consumer as CeleryConsumer


class Consumer(CeleryConsumer):
    """The task consumer whose maximum prefetch count is the pool's concurrency."""

    @property
    def max_prefetch_count(self) -> int:
        """What the prefetch count returns to after a reconnect: concurrency x multiplier."""
        return max(self.pool.limit or 1, 1) * self.prefetch_multiplier
