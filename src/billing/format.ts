// Invoice output for `keycast bill`: JSON (the Invoice object) or CSV (RFC 4180, one row per line, then one
// "TOTAL" row per client). Amounts stay in integer minor units.
import type { Invoice } from './rate.js';

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function invoiceToCsv(inv: Invoice): string {
  const rows: (string | number)[][] = [['client', 'item', 'quantity', 'unit_price', 'amount', 'currency']];
  for (const l of inv.lines) rows.push([l.client, l.item, l.quantity, l.unitPrice, l.amount, inv.currency]);
  for (const t of inv.totals) rows.push([t.client, 'TOTAL', '', '', t.amount, inv.currency]);
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function invoiceToJson(inv: Invoice): string {
  return `${JSON.stringify(inv, null, 2)}\n`;
}
