"""The dynamic symbol universe (seed 000 ``symbol_universe``): markets measured (:mod:`engine.universe.scan`),
ranked and chosen (:mod:`engine.universe.ranking`), and applied by the engine's universe job
(:mod:`engine.universe.keeper`)."""
