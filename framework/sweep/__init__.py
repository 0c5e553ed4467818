"""framework.sweep"""
