"""One module per `dokku ansible-deploy:<verb>`: its usage line, description and handler side by side."""
