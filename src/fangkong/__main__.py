from fangkong.cli import app

app()
