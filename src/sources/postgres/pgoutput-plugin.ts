import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { decodeText } from './values.ts';

/** pgoutput with our value decoding (values.ts) instead of pg's global type parsers (loaded with the stream: packages.ts). */
export class DecodingPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    if (message.tag === 'relation') {
      for (const column of message.columns) column.parser = (text: string) => decodeText(column.typeOid, text);
    }
    return message;
  }
}
