"""Safety walks (trygghetsvandringar): walks, findings, their store and public view."""
