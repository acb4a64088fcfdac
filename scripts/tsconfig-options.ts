import { join } from 'node:path';
import ts from 'typescript';

/** The compiler options of the repository's tsconfig.base.json, for tools that build their own TypeScript Program. */
export function readBaseCompilerOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.base.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath).options;
}
