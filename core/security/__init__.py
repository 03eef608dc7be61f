"""Authentication and session controls shared by every page, the admin and the API.

Lockout (django-axes, keyed on the client address of ``client.client_address``), two-factor
sign-in (django-otp TOTP with backup codes), idle logout, the password policy, the login log
(``LoginEvent``) and the pages where a user changes a password or enrols a device.
docs/compliance.md maps each control to its test.
"""
