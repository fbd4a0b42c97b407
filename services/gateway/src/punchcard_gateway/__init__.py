"""Punchcard gateway service. The edge: the admin API (authenticated, role-checked) and the kiosk-
facing API that receives punch attempts."""
