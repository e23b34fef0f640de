"""Figures of the study, one module per step: ``area`` (study area), ``data`` (layers, tile grid),
``factors`` (density plots), ``enhance`` (BE galleries), ``results`` (training curves, error maps)."""
