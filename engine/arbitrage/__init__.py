"""Cross-exchange arbitrage (seed 000 ``cross_exchange_arbitrage``, off by default): opportunities as pure functions
(:mod:`engine.arbitrage.opportunity`) and the job that runs their legs (:mod:`engine.arbitrage.desk`)."""
