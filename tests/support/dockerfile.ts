// Reads the Dockerfile as Docker does, for tests that check what the image copies and run the
// operator exactly as its ENTRYPOINT does.

/** One Dockerfile instruction: its keyword and the rest of the line. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions, with continuation lines joined and comments dropped. */
export function instructions(text: string): Instruction[] {
  return text.replace(/\\\n/g, " ").split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

/** The words of an instruction in shell or exec (JSON array) form. */
export function words(args: string): string[] {
  return args.startsWith("[") ? JSON.parse(args) as string[] : args.split(/\s+/);
}

/** How the image runs its process: the last ENTRYPOINT (exec form), ENV and WORKDIR. */
export interface ImageProcess {
  /** The ENTRYPOINT's words, the program first. */
  entrypoint: string[];
  /** Every ENV variable (`KEY=value` and legacy `KEY value` forms), later ones winning. */
  env: Record<string, string>;
  /** The last WORKDIR. */
  workdir?: string;
}

/** Reads how the image runs its process; throws without an ENTRYPOINT. */
export function imageProcess(dockerfile: Instruction[]): ImageProcess {
  const env: Record<string, string> = {};
  let entrypoint: string[] | undefined;
  let workdir: string | undefined;
  for (const { keyword, args } of dockerfile) {
    if (keyword === "ENTRYPOINT") entrypoint = words(args);
    if (keyword === "WORKDIR") workdir = args;
    if (keyword !== "ENV") continue;
    if (!/^\S+=/.test(args)) {
      const [key, ...value] = args.split(/\s+/);
      env[key] = value.join(" ");
      continue;
    }
    for (const pair of args.split(/\s+/)) {
      const equals = pair.indexOf("=");
      env[pair.slice(0, equals)] = pair.slice(equals + 1);
    }
  }
  if (!entrypoint) throw new Error("the Dockerfile has no ENTRYPOINT");
  return { entrypoint, env, workdir };
}
