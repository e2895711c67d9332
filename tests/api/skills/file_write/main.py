from pathlib import Path


def run(args):
    target = Path("workspace") / Path(args["path"]).name
    target.parent.mkdir(exist_ok=True)
    target.write_text(args["content"])
    return {"written": str(target), "bytes": len(args["content"])}
