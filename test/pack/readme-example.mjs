// Prints the README code block marked `<!-- readme-example: <runtime> <file> -->`, verbatim.
import { readFileSync } from "node:fs";

const [readme, runtime] = process.argv.slice(2);
const text = readFileSync(readme, "utf8");
const marker = new RegExp(`<!-- readme-example: ${runtime} \\S+ -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\`\\n`);
const match = marker.exec(text);
if (!match) {
  console.error(`no README example for ${runtime}`);
  process.exit(1);
}
process.stdout.write(`${match[1]}\n`);
