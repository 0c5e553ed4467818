"""framework.engine.event"""
