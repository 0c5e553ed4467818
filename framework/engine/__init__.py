"""framework.engine"""
