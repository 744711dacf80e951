export async function main(argv: string[]): Promise<number> {
  console.log('pamc', argv.join(' '));
  return 0;
}
