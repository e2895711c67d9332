from pathlib import Path


def run(args):
    log = Path("workspace") / "shell.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("a") as f:
        f.write(args["cmd"] + "\n")
    return {"recorded": args["cmd"]}
