"""Deployment and adoption: the installed package, container files, health, scale-out, upgrades, a second district."""
