import type { CrmName } from '@signalbox/connectors';
import { AppError } from '../errors.js';
import type { CrmCalls } from './crm-calls.js';
import type { CrmPeople, PeopleStore } from './crm-people.js';

/** What every CRM app offers the calls the HTTP side makes. */
export interface CrmApp {
  readonly people: CrmPeople;
  /** The OAuth callback's work; returns the account connected. */
  connect(code: string): Promise<string>;
}

/** The CRM calls made on this thread, by the CRM apps configured here. */
export function localCrmCalls(apps: Partial<Record<CrmName, CrmApp>>, store: PeopleStore): CrmCalls {
  const app = (crm: CrmName): CrmApp => {
    const a = apps[crm];
    if (a === undefined) throw new AppError(404, 'CRM_NOT_CONFIGURED', `${crm} is not configured on this instance`);
    return a;
  };
  return {
    contactFor: (crm, account, ref) => app(crm).people.contactFor(store, account, ref),
    contactsOf: (crm, account, record) => app(crm).people.contactsOf(store, account, record),
    connect: (crm, code) => app(crm).connect(code),
  };
}
